//! The first-boot unit under a real systemd running as PID 1: a Debian bookworm root filesystem
//! with systemd (made by `mmdebstrap`, see `.ci/run`), imported into a test-owned Docker daemon,
//! the tree `install.sh --first-boot --destdir` staged copied in, then booted (`/sbin/init` in a
//! container with its own cgroup namespace and every capability but CAP_SYS_RESOURCE, which this
//! kind of VM does not grant). systemd starts the enabled unit by itself after
//! multi-user.target; the network it needs (a loopback HTTP server inside the container) is
//! missing at first and comes up later; the attempts fail, back off and are recorded; the next
//! one succeeds, writes the marker, and after a reboot the unit is skipped by its condition.
//!
//! The root filesystem is read from `$JETDOC_SYSTEMD_ROOTFS` (default
//! `/var/tmp/jetdoc-ci/debian-bookworm-systemd.tar`); without it the test is skipped locally and
//! fails in CI.
#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]

mod support;

support::harness!(the_unit_retries_under_systemd_as_pid1_until_the_network_is_back_then_never_again,);

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::dockerd::TestDaemon;

const ROOTFS_DEFAULT: &str = "/var/tmp/jetdoc-ci/debian-bookworm-systemd.tar";
const UNIT: &str = "jetdoc-provision.service";

fn rootfs() -> PathBuf {
    std::env::var_os("JETDOC_SYSTEMD_ROOTFS").map(PathBuf::from).unwrap_or_else(|| ROOTFS_DEFAULT.into())
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A booted container: systemd is its PID 1.
struct Machine<'d> {
    docker: &'d TestDaemon,
    name: String,
}

impl Machine<'_> {
    fn exec(&self, args: &[&str]) -> Output {
        self.docker.docker(&[&["exec", self.name.as_str()][..], args].concat())
    }

    fn sh(&self, script: &str) -> String {
        let out = self.exec(&["sh", "-c", script]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until systemd says the boot is over (`running`, or `degraded` when some unit of
    /// the minimal image failed).
    fn wait_booted(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = self.sh("systemctl is-system-running 2>/dev/null");
            if matches!(state.trim(), "running" | "degraded") {
                return;
            }
            assert!(Instant::now() < deadline, "systemd did not finish booting: {state}\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}\n{}", self.journal());
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn journal(&self) -> String {
        self.sh(&format!("journalctl --no-pager -o cat -u {UNIT}"))
    }

    fn logs(&self) -> String {
        text(&self.docker.docker(&["logs", "--tail", "40", &self.name]))
    }

    fn show(&self, prop: &str) -> String {
        self.sh(&format!("systemctl show -p {prop} --value {UNIT}")).trim().to_string()
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.sh("cat /var/lib/jetdoc/state.json 2>/dev/null")).unwrap_or_default()
    }
}

fn the_unit_retries_under_systemd_as_pid1_until_the_network_is_back_then_never_again() {
    let rootfs = rootfs();
    support::require(
        rootfs.is_file(),
        &format!(
            "a Debian root filesystem with systemd at {} (.ci/run makes it with mmdebstrap)",
            rootfs.display()
        ),
    );
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(Path::new).find(|p| p.exists());
    support::require(busybox.is_some(), "busybox-static");
    let busybox = busybox.unwrap_or(Path::new("/bin/busybox"));
    let docker = TestDaemon::start("{}");
    let t0 = Instant::now();

    // The image to flash: install.sh stages first boot into a tree, as for an SD card.
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("target/release")).unwrap();
    std::fs::copy(src.join("install.sh"), repo.join("install.sh")).unwrap();
    support::copy_tree(&src.join("contrib/systemd"), &repo.join("contrib/systemd"));
    std::fs::copy(env!("CARGO_BIN_EXE_jetdoc"), repo.join("target/release/jetdoc")).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("cargo"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(bin.join("cargo"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let lock = tmp.path().join("locomotion.lock");
    std::fs::write(&lock, "schema = 1\n[profile]\nname = \"locomotion\"\n").unwrap();
    let sd = tmp.path().join("sd");
    let out = Command::new("bash")
        .arg(repo.join("install.sh"))
        .args(["--first-boot", "locomotion", "--lock"])
        .arg(&lock)
        .arg("--destdir")
        .arg(&sd)
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // What the test changes in the staged tree, as a drop-in beside the installed unit: seconds
    // instead of minutes between attempts, and a network step that jetdoc's real download engine
    // takes instead of `jetdoc provision` (which needs a Docker engine inside this machine).
    let payload = b"the robot's files\n".repeat(1000);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&payload));
    std::fs::create_dir_all(sd.join("srv")).unwrap();
    std::fs::write(sd.join("srv/payload"), &payload).unwrap();
    std::fs::copy(busybox, sd.join("usr/local/bin/busybox")).unwrap();
    let dropin = sd.join("etc/systemd/system/jetdoc-provision.service.d");
    std::fs::create_dir_all(&dropin).unwrap();
    std::fs::write(
        dropin.join("test.conf"),
        format!(
            "[Service]\nRestartSec=1s\nExecStartPre=\nExecStartPre=-/usr/local/bin/jetdoc first-boot backoff --restart-sec 1 --max-sec 4\nExecStart=\nExecStart=/usr/local/bin/jetdoc fetch url http://127.0.0.1:8080/payload --sha256 {sha} -o /var/lib/fetched\nEnvironment=JETDOC_CACHE_DIR=/var/cache/jetdoc\n"
        ),
    )
    .unwrap();

    let tar = rootfs.to_str().unwrap();
    let image = "jetdoc-firstboot-systemd:test";
    let imported = Command::new("sh")
        .arg("-c")
        .arg(format!("docker import - {image} < '{tar}'"))
        .env("DOCKER_HOST", docker.host())
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", text(&imported));
    let imported_at = t0.elapsed();
    let name = format!("jetdoc-fb-pid1-{}", std::process::id());
    docker.docker_ok(&[
        "create",
        "--name",
        &name,
        "--cgroupns",
        "private",
        "--cap-add",
        "ALL",
        "--cap-drop",
        "SYS_RESOURCE",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "--network",
        "none",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "-e",
        "container=docker",
        // What systemd takes as "halt" (as PID 1 it ignores SIGTERM): a clean, quick reboot.
        "--stop-signal",
        "SIGRTMIN+3",
        image,
        "/sbin/init",
    ]);
    docker.docker_ok(&["cp", &format!("{}/.", sd.display()), &format!("{name}:/")]);
    let m = Machine { docker: &docker, name };
    let prepared = t0.elapsed();
    docker.docker_ok(&["start", &m.name]);
    m.wait_booted();
    let booted = t0.elapsed();
    assert_eq!(m.sh("cat /proc/1/comm").trim(), "systemd", "systemd is PID 1");
    assert_eq!(m.sh(&format!("systemctl is-enabled {UNIT}")).trim(), "enabled");

    // No network yet: attempts fail (connection refused), are recorded, and back off.
    m.wait_for("two failed attempts and a backoff", Duration::from_secs(40), |m| {
        m.state()["first_boot"]["attempts"].as_u64().unwrap_or(0) >= 2
            && m.journal().contains("waiting 1 s more")
    });
    assert!(!m.state()["first_boot"]["last"]["success"].as_bool().unwrap_or(true));
    let journal = m.journal();
    assert!(
        journal.contains("attempt 1 of `jetdoc provision locomotion` failed (exit status 1)"),
        "{journal}"
    );
    assert!(
        journal.contains("2 failed attempt(s) in this boot; waiting 1 s more before the next"),
        "{journal}"
    );
    assert!(journal.contains("127.0.0.1:8080"), "the download's own error is in the journal: {journal}");
    let st = m.exec(&["/usr/local/bin/jetdoc", "first-boot", "status"]);
    assert_eq!(st.status.code(), Some(1), "{}", text(&st));
    assert!(text(&st).contains("not succeeded yet"), "{}", text(&st));

    // The network comes back: the next attempt succeeds and the marker ends it.
    m.exec(&["/usr/local/bin/busybox", "httpd", "-p", "127.0.0.1:8080", "-h", "/srv"]);
    m.wait_for("the marker", Duration::from_secs(40), |m| {
        m.exec(&["test", "-f", "/var/lib/jetdoc/first-boot.done"]).status.success()
    });
    let done = t0.elapsed();
    m.wait_for("the unit to go inactive", Duration::from_secs(10), |m| m.show("ActiveState") == "inactive");
    assert_eq!(m.show("Result"), "success");
    let restarts: u32 = m.show("NRestarts").parse().unwrap();
    let state = m.state();
    let attempts = state["first_boot"]["attempts"].as_u64().unwrap();
    assert!(restarts >= 2 && attempts == u64::from(restarts) + 1, "{restarts} restarts, {attempts} attempts");
    assert_eq!(state["first_boot"]["last"]["success"], true);
    assert_eq!(m.sh("sha256sum /var/lib/fetched/payload | cut -d' ' -f1").trim(), sha);
    assert!(m.journal().contains("succeeded (attempt"), "{}", m.journal());
    let st = m.exec(&["/usr/local/bin/jetdoc", "--format", "json", "first-boot", "status"]);
    assert_eq!(st.status.code(), Some(0), "{}", text(&st));
    let v: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(v["phase"], "done");

    // A reboot: the condition skips the unit, nothing runs again.
    docker.docker_ok(&["restart", "-t", "10", &m.name]);
    m.wait_booted();
    m.wait_for("the unit's condition to be checked", Duration::from_secs(20), |m| {
        m.show("ConditionTimestampMonotonic") != "0"
    });
    assert_eq!(m.show("ConditionResult"), "no");
    assert_eq!(m.show("NRestarts"), "0");
    assert_eq!(m.state()["first_boot"]["attempts"].as_u64(), Some(attempts), "no attempt after the reboot");
    report(&format!(
        "systemd as PID 1: imported in {:.1} s, prepared in {:.1} s, booted at {:.1} s, provisioned at {:.1} s after {attempts} attempts, rebooted and skipped at {:.1} s",
        imported_at.as_secs_f64(),
        prepared.as_secs_f64(),
        booted.as_secs_f64(),
        done.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    ));
}

/// The phases' timings, for the report on how long this test takes (shown with --nocapture).
#[allow(clippy::print_stderr, reason = "the test's own timings")]
fn report(line: &str) {
    eprintln!("{line}");
}
