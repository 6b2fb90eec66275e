//! `jetdoc fix --gpu-runtime` against a REAL Docker engine: a test-owned dockerd (and containerd)
//! reads the `etc/docker/daemon.json` of a temp Jetson root; a stand-in `nvidia-container-runtime`
//! on their PATH logs its arguments and execs runc. jetdoc edits the file, restarts the daemon
//! through `JETDOC_DOCKER_RESTART`, and re-probes the real `docker info`.
#![allow(
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests drive the real binary and the real tools, and say what they waited for"
)]

mod support;

support::harness!(
    gpu_runtime_fix_registers_nvidia_as_default_on_a_real_daemon,
    gpu_runtime_fix_rolls_back_when_the_daemon_does_not_load_it,
    a_failing_restart_restores_the_backup_and_restarts_again,
);

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::dockerd::{busybox_context, TestDaemon};
use support::{copy_tree, fixtures_dir, jetdoc, run, stderr, stdout};

/// What the daemon starts with: the user's own settings, no nvidia runtime.
const START: &str = "{\n  \"log-level\": \"info\",\n  \"max-concurrent-downloads\": 2\n}\n";

#[derive(Clone, Copy)]
enum Restart {
    /// The script restarts the daemon (with whatever daemon.json now says).
    Works,
    /// The script reports success without restarting: the daemon keeps its old configuration.
    Ignored,
    /// The first restart fails (exit 1, daemon untouched); later ones work.
    FailsOnce,
}

/// A test-owned daemon whose restarts are requested by a shell script (run by jetdoc as
/// `JETDOC_DOCKER_RESTART`) and carried out by a watcher thread of the test, which owns dockerd.
struct Rig {
    root: tempfile::TempDir,
    daemon: Arc<Mutex<TestDaemon>>,
    restarts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
    script: PathBuf,
    runtime_log: PathBuf,
    host: String,
}

impl Rig {
    fn start(restart: Restart) -> Rig {
        let root = tempfile::tempdir().unwrap();
        copy_tree(&fixtures_dir().join("runtime/jetson-base"), root.path());
        let config = root.path().join("etc/docker/daemon.json");
        std::fs::write(&config, START).unwrap();

        let (bin, runtime_log) = support::dockerd::nvidia_runtime_standin(root.path());

        let daemon = TestDaemon::start_with_config_file(config, vec![bin]);
        let host = daemon.host();
        let dir = daemon.dir.path().to_path_buf();
        let script = dir.join("restart.sh");
        let real = format!(
            "rm -f {d}/restart-done\ntouch {d}/restart-request\ni=0\nwhile [ ! -f {d}/restart-done ]; do sleep 0.1; i=$((i+1)); [ $i -gt 1200 ] && exit 124; done\nexit $(cat {d}/restart-done)\n",
            d = dir.display()
        );
        let body = match restart {
            Restart::Works => format!("#!/bin/sh\n{real}"),
            Restart::Ignored => "#!/bin/sh\nexit 0\n".to_string(),
            Restart::FailsOnce => format!(
                "#!/bin/sh\nif [ ! -f {d}/failed-once ]; then touch {d}/failed-once; echo 'Job for docker.service failed' >&2; exit 1; fi\n{real}",
                d = dir.display()
            ),
        };
        std::fs::write(&script, body).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

        let daemon = Arc::new(Mutex::new(daemon));
        let restarts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (daemon, restarts, stop) = (daemon.clone(), restarts.clone(), stop.clone());
            std::thread::spawn(move || {
                let request = dir.join("restart-request");
                while !stop.load(Ordering::SeqCst) {
                    if request.exists() {
                        let _ = std::fs::remove_file(&request);
                        let ok = daemon.lock().unwrap().restart();
                        restarts.fetch_add(1, Ordering::SeqCst);
                        if let Err(e) = &ok {
                            eprintln!("test dockerd restart failed: {e}");
                        }
                        std::fs::write(dir.join("restart-done"), if ok.is_ok() { "0" } else { "1" }).unwrap();
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Rig { root, daemon, restarts, stop, watcher: Some(watcher), script, runtime_log, host }
    }

    fn jetdoc(&self, args: &[&str]) -> std::process::Output {
        run(jetdoc()
            .arg("--root")
            .arg(self.root.path())
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .env("JETDOC_LIVE_COMMANDS", "true") // clap reads a bool env as true/false, not 1
            .env("JETDOC_DOCKER_RESTART", &self.script))
    }

    fn daemon_json(&self) -> Vec<u8> {
        std::fs::read(self.root.path().join("etc/docker/daemon.json")).unwrap()
    }

    fn info(&self, format: &str) -> String {
        self.daemon.lock().unwrap().docker_ok(&["info", "--format", format]).trim().to_string()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

fn build_busybox(daemon: &TestDaemon, dir: &Path) {
    let ctx = dir.join("ctx");
    support::require(busybox_context(&ctx).is_some(), "busybox-static");
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"echo\", \"hello from the nvidia runtime\"]\n").unwrap();
    let out = daemon.build("jetdoc-runtime:1", &ctx);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn gpu_runtime_fix_registers_nvidia_as_default_on_a_real_daemon() {
    let rig = Rig::start(Restart::Works);
    assert!(!rig.info("{{json .Runtimes}}").contains("\"nvidia\""), "starts without the runtime");
    assert_eq!(rig.info("{{.DefaultRuntime}}"), "runc");

    let before_check = rig.jetdoc(&["check", "--only", "docker.nvidia-runtime", "--format", "json"]);
    assert_eq!(before_check.status.code(), Some(1), "{}", stdout(&before_check));

    let out = rig.jetdoc(&["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    assert_eq!(rig.restarts.load(Ordering::SeqCst), 1, "one restart");
    assert!(stdout(&out).contains("undo with `sudo jetdoc fix --undo"), "{}", stdout(&out));

    // The real daemon now lists the runtime as its default.
    let runtimes: serde_json::Value = serde_json::from_str(&rig.info("{{json .Runtimes}}")).unwrap();
    assert_eq!(runtimes["nvidia"]["path"], "nvidia-container-runtime");
    assert_eq!(rig.info("{{.DefaultRuntime}}"), "nvidia");
    // The user's keys survive, in order, ahead of the new ones.
    let cfg: serde_json::Value = serde_json::from_slice(&rig.daemon_json()).unwrap();
    let keys: Vec<&String> = cfg.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["log-level", "max-concurrent-downloads", "runtimes", "default-runtime"]);

    // A FROM-scratch container runs under it: the stand-in runtime was exec'd for `create`.
    {
        let daemon = rig.daemon.lock().unwrap();
        build_busybox(&daemon, rig.root.path());
        let hello = daemon.docker_ok(&["run", "--rm", "jetdoc-runtime:1"]);
        assert_eq!(hello.trim(), "hello from the nvidia runtime");
        let inspect = daemon.docker_ok(&["run", "-d", "jetdoc-runtime:1", "/bin/busybox", "true"]);
        let runtime = daemon.docker_ok(&["inspect", "--format", "{{.HostConfig.Runtime}}", inspect.trim()]);
        assert_eq!(runtime.trim(), "nvidia");
    }
    let log = std::fs::read_to_string(&rig.runtime_log).unwrap_or_default();
    assert!(log.lines().any(|l| l.contains(" create ")), "nvidia-container-runtime was not used:\n{log}");

    // The doctor agrees, and a second fix changes nothing and restarts nothing.
    let after =
        rig.jetdoc(&["check", "--only", "docker.nvidia-runtime,docker.default-runtime", "--format", "json"]);
    assert_eq!(after.status.code(), Some(0), "{}", stdout(&after));
    let before = rig.daemon_json();
    let again = rig.jetdoc(&["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("gpu-runtime: nothing to do"), "{}", stdout(&again));
    assert_eq!(rig.restarts.load(Ordering::SeqCst), 1, "no second restart");
    assert_eq!(rig.daemon_json(), before);
}

fn gpu_runtime_fix_rolls_back_when_the_daemon_does_not_load_it() {
    // The restart command "succeeds" without restarting: Docker keeps running the old config, so
    // the runtime never shows up in `docker info`, and jetdoc must restore the original file.
    let rig = Rig::start(Restart::Ignored);
    let out = rig.jetdoc(&["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("does not list the nvidia runtime"), "{}", stdout(&out));
    assert!(stdout(&out).contains("rolled back"), "{}", stdout(&out));
    assert_eq!(rig.daemon_json(), START.as_bytes(), "daemon.json restored byte for byte");
    let journal = std::fs::read_to_string(rig.root.path().join("var/lib/jetdoc/journal.jsonl")).unwrap();
    assert!(journal.contains("\"action\":\"rolled-back\""), "{journal}");
    // The daemon still answers with its original runtime.
    assert_eq!(rig.info("{{.DefaultRuntime}}"), "runc");
}

fn a_failing_restart_restores_the_backup_and_restarts_again() {
    let rig = Rig::start(Restart::FailsOnce);
    let out = rig.jetdoc(&["fix", "--gpu-runtime", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{}\nstderr:\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Docker did not restart"), "{text}");
    assert!(text.contains("restored /etc/docker/daemon.json from the backup"), "{text}");
    assert!(text.contains("Docker is running again with the original configuration"), "{text}");
    assert_eq!(rig.daemon_json(), START.as_bytes(), "daemon.json restored byte for byte");
    // The second restart (with the original file) really happened, and the daemon is back on runc.
    assert_eq!(rig.restarts.load(Ordering::SeqCst), 1);
    assert_eq!(rig.info("{{.DefaultRuntime}}"), "runc");
    assert!(!rig.info("{{json .Runtimes}}").contains("\"nvidia\""));
}
