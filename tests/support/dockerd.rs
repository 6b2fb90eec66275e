//! A test-owned Docker daemon: its own config file, data root, exec root, pidfile, socket and
//! containerd namespace, so tests never touch (or depend on) the system daemon. No bridge and no
//! iptables: tests need no container networking, and several daemons must coexist.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
    /// Extra directories put first on the daemon's PATH (e.g. a stand-in nvidia-container-runtime).
    pub path_prefix: Vec<PathBuf>,
    child: Option<Child>,
    /// A test-owned containerd, started when `path_prefix` is set: runtime programs are exec'd
    /// by containerd's shims, which inherit containerd's PATH, not dockerd's; the system
    /// containerd would never find a stand-in runtime.
    containerd: Option<Child>,
}

/// True when `dockerd` and the `docker` CLI are installed and we are root (dockerd needs it).
pub fn available() -> bool {
    which::which("dockerd").is_ok() && which::which("docker").is_ok() && is_root()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

impl TestDaemon {
    /// Starts a daemon with `config_json` as its `daemon.json`. Without Docker the test stops
    /// here: ignored locally, failed in CI (`support::require`).
    pub fn start(config_json: &str) -> TestDaemon {
        Self::start_with_path(config_json, Vec::new())
    }

    pub fn start_with_path(config_json: &str, path_prefix: Vec<PathBuf>) -> TestDaemon {
        Self::start_inner(None, config_json, path_prefix)
    }

    /// Like `start_with_path`, but the daemon reads an existing config file at `config` (e.g. the
    /// `etc/docker/daemon.json` of a fixture root that a fix edits in place).
    pub fn start_with_config_file(config: PathBuf, path_prefix: Vec<PathBuf>) -> TestDaemon {
        Self::start_inner(Some(config), "", path_prefix)
    }

    fn start_inner(config_file: Option<PathBuf>, config_json: &str, path_prefix: Vec<PathBuf>) -> TestDaemon {
        super::require(available(), "a Docker engine (dockerd, docker CLI, root)");
        // Short base path: the daemon's unix sockets must stay under 108 bytes.
        let dir = tempfile::Builder::new().prefix("jd-").tempdir_in("/tmp").unwrap();
        let d = dir.path();
        let config = match config_file {
            Some(c) => c,
            None => {
                let c = d.join("daemon.json");
                std::fs::write(&c, config_json).unwrap();
                c
            }
        };
        let mut daemon = TestDaemon {
            config,
            socket: d.join("docker.sock"),
            data_root: d.join("data"),
            exec_root: d.join("exec"),
            pidfile: d.join("docker.pid"),
            log: d.join("dockerd.log"),
            path_prefix,
            child: None,
            containerd: None,
            dir,
        };
        daemon.spawn().unwrap_or_else(|e| panic!("test dockerd did not start: {e}\n{}", daemon.log_tail()));
        daemon
    }

    /// `unix:///.../docker.sock`, for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn namespace(&self) -> String {
        let name = self.dir.path().file_name().unwrap().to_string_lossy().replace('.', "");
        format!("jetdoc-test-{name}")
    }

    fn containerd_socket(&self) -> PathBuf {
        self.dir.path().join("ctd.sock")
    }

    /// Starts the private containerd (once; it survives dockerd restarts).
    fn spawn_containerd(&mut self, path: &str) -> Result<(), String> {
        if self.containerd.is_some() {
            return Ok(());
        }
        let d = self.dir.path();
        let config = d.join("containerd.toml");
        std::fs::write(&config, "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n").unwrap();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(d.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .arg("--address")
            .arg(self.containerd_socket())
            .arg("--root")
            .arg(d.join("ctd-root"))
            .arg("--state")
            .arg(d.join("ctd-state"))
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn containerd: {e}"))?;
        self.containerd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.containerd_socket().exists() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("containerd did not create its socket within 30s".into())
    }

    /// Starts dockerd with the current config file; waits until it answers.
    pub fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut path = self.path_prefix.iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
        path.push(std::env::var("PATH").unwrap_or_default());
        let path = path.join(":");
        let mut containerd_args = Vec::new();
        if !self.path_prefix.is_empty() {
            self.spawn_containerd(&path)?;
            containerd_args =
                vec!["--containerd".to_string(), self.containerd_socket().display().to_string()];
        }
        let ns = self.namespace();
        let child = Command::new("dockerd")
            .args(&containerd_args)
            .arg("--config-file")
            .arg(&self.config)
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--pidfile")
            .arg(&self.pidfile)
            .arg("--host")
            .arg(self.host())
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false"])
            .arg(format!("--containerd-namespace={ns}"))
            .arg(format!("--containerd-plugins-namespace={ns}-plugins"))
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawn dockerd: {e}"))?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60))
    }

    /// Waits until `docker info` answers on the socket, or the daemon exits.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("dockerd exited with {status}"));
                }
            }
            if self.socket.exists()
                && self.docker(&["version", "--format", "{{.Server.Version}}"]).status.success()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("dockerd did not answer within {}s", timeout.as_secs()))
    }

    /// Stops the daemon (SIGTERM, then SIGKILL after 20 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Stop, then start again with whatever the config file now says.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker").env("DOCKER_HOST", self.host()).args(args).output().expect("run docker")
    }

    /// Like `docker`, but panics with stderr when the command fails.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(out.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Builds an image from a Dockerfile text and a context directory.
    pub fn build(&self, tag: &str, context: &Path) -> Output {
        Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", tag])
            .arg(context)
            .output()
            .expect("run docker build")
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // Remove containers first so their mounts do not outlive the daemon.
        if self.child.is_some() {
            let ids = String::from_utf8_lossy(&self.docker(&["ps", "-aq"]).stdout).into_owned();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = self.docker(&[&["rm", "-f"][..], &ids].concat());
            }
        }
        self.stop();
        if let Some(mut c) = self.containerd.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && !matches!(c.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Overlay mounts under the data root must go before the temp dir can be removed.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "grep -o '{}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r umount -l",
                self.dir.path().display()
            ))
            .status();
    }
}

/// A stand-in `nvidia-container-runtime` in `dir/standin-bin` that logs its arguments to
/// `dir/nvidia-runtime.log` and execs runc: put the bin directory on the daemon's PATH and its
/// `nvidia` runtime runs containers for real. Returns (bin directory, log).
#[allow(dead_code, reason = "used by the files that run containers through the nvidia runtime")]
pub fn nvidia_runtime_standin(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("standin-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let runtime_log = dir.join("nvidia-runtime.log");
    let standin = bin.join("nvidia-container-runtime");
    std::fs::write(
        &standin,
        format!("#!/bin/sh\necho \"$@\" >> {}\nexec runc \"$@\"\n", runtime_log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&standin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, runtime_log)
}

/// A directory with a statically linked busybox, for `FROM scratch` images that must run
/// something. Returns `None` when busybox-static is missing (and not in CI).
pub fn busybox_context(dir: &Path) -> Option<PathBuf> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].iter().map(Path::new).find(|p| p.exists())?;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(busybox, dir.join("busybox")).unwrap();
    Some(dir.to_path_buf())
}
