//! The Ansible role of `contrib/ansible/` with real parts (issue 13 item 3): a real
//! `ansible-playbook` (ansible-core from PyPI, pinned in tests/ansible_support/prepare.sh) runs
//! the shipped `site.yml` against three hosts that are not this machine's root: containers of a
//! minimal Debian (`mmdebstrap` minbase + python3, `docker import`) in a test-owned Docker daemon,
//! reached through the `community.docker.docker` connection (taken from PyPI's `ansible` wheel).
//!
//! The containers are not Jetsons: each gets a fixture root copied to /srv/jetson-root and the
//! role's `jetdoc_root` variable makes every jetdoc command run with `--root /srv/jetson-root`.
//! Two hosts get the binary, the third a .deb built here with dpkg-deb.
//!
//! The provision is real: the rig of tests/provision.rs (tests/support/provision_rig.rs: a
//! registry with a busybox base, a wheel index and a ZED stand-in on loopback, dockerd with a
//! stand-in `nvidia` runtime) serves the hosts, which share this machine's network and each have
//! a Docker engine's socket at /var/run/docker.sock (hosts 2 and 3 share a second engine: one
//! engine per robot, as on a fleet, keeps two robots' images and up-to-date checks apart). A lock
//! made here on a first robot goes to every host with the team's profile; `jetdoc provision
//! e2e-test --locked` builds, smoke-tests and records it on the two JetPack 6 hosts and refuses
//! the JetPack 5 one; a second run is up to date with no transfer; `--check` plans the built-in
//! `locomotion` on every host (`--dry-run`).
//!
//! Locally the test is reported ignored (with what it needs) when Docker, mmdebstrap or
//! python3's venv is missing; in CI (`CI=true`) it fails instead.

#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]
#![allow(
    clippy::print_stderr,
    reason = "how long each ansible-playbook run took and the report, for the CI log"
)]

#[path = "support/provision_rig.rs"]
mod provision_rig;
#[path = "fetch_support/server.rs"]
mod server;
mod support;

support::harness!(
    the_role_installs_jetdoc_copies_the_lock_provisions_and_gathers_one_report_from_three_hosts
);

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use provision_rig::{sha, test_profile, Rig};
use support::dockerd::TestDaemon;

const IMAGE: &str = "jetdoc-ansible-host:test";
/// The hosts, the fixture root each one carries, and how jetdoc is installed there.
const HOSTS: [(&str, &str, Install); 3] = [
    ("jetdoc-ansible-1", "agx-orin-r36.4.3", Install::Binary),
    ("jetdoc-ansible-2", "orin-nano-super-r36.4.4", Install::Binary),
    ("jetdoc-ansible-3", "xavier-nx-r35.4.1", Install::Deb),
];
const ROOT_IN_HOST: &str = "/srv/jetson-root";
const LOCK: &str = "team.lock";
/// The team's profile (tests/support/provision_rig.rs), provisioned for real on the JetPack 6 hosts.
const PROFILE: &str = "e2e-test";
const STATE_IN_HOST: &str = "/srv/jetson-root/var/lib/jetdoc/state.json";

#[derive(Clone, Copy, PartialEq)]
enum Install {
    Binary,
    Deb,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cache_dir() -> PathBuf {
    std::env::var_os("JETDOC_ANSIBLE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ansible"))
}

fn have(tool: &str) -> bool {
    which::which(tool).is_ok()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The venv with ansible-core, the community.docker collection and the Debian root filesystem,
/// built by prepare.sh (a no-op when cached under target/ansible).
fn prepare() -> PathBuf {
    let script = repo().join("tests/ansible_support/prepare.sh");
    let cached = Command::new(&script).arg("--check").status().is_ok_and(|s| s.success());
    if !cached {
        let python_venv = Command::new("python3")
            .args(["-c", "import venv, ensurepip"])
            .status()
            .is_ok_and(|s| s.success());
        support::require(python_venv, "python3 with venv and ensurepip (python3-venv)");
        support::require(have("mmdebstrap"), "mmdebstrap (apt-get install mmdebstrap)");
        support::require(have("dpkg-deb"), "dpkg-deb");
    }
    let started = Instant::now();
    let out = Command::new(&script).output().expect("run prepare.sh");
    assert!(out.status.success(), "tests/ansible_support/prepare.sh failed:\n{}", text(&out));
    if !cached {
        eprintln!("prepared the Ansible venv and the Debian rootfs in {:.0?}", started.elapsed());
    }
    cache_dir()
}

fn rootfs_tar(cache: &Path) -> PathBuf {
    let tars: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("rootfs-")
                && p.extension().is_some_and(|x| x == "tar")
        })
        .collect();
    assert_eq!(tars.len(), 1, "one rootfs tar expected in {}: {tars:?}", cache.display());
    tars.into_iter().next().unwrap()
}

/// The jetdoc under test, without its debug info (the debug build is ~150 MB; the copy module
/// would hash and send all of it to every host).
fn jetdoc_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("jetdoc");
    let src = env!("CARGO_BIN_EXE_jetdoc");
    let stripped = have("objcopy")
        && Command::new("objcopy")
            .arg("--strip-debug")
            .arg(src)
            .arg(&bin)
            .status()
            .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(src, &bin).unwrap();
    }
    bin
}

/// A .deb of that binary laid out as cargo-deb lays out jetdoc's package (Package: jetdoc,
/// Version: VERSION-1, /usr/bin/jetdoc), made with dpkg-deb: cargo-deb is not needed for the
/// role's dpkg path; gzip -1 because xz would spend longer compressing than the test runs.
fn jetdoc_deb(dir: &Path, bin: &Path) -> PathBuf {
    let tree = dir.join("deb-tree");
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("usr/bin")).unwrap();
    std::fs::copy(bin, tree.join("usr/bin/jetdoc")).unwrap();
    let arch = Command::new("dpkg").arg("--print-architecture").output().unwrap();
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: jetdoc\nVersion: {}-1\nArchitecture: {arch}\nMaintainer: jetdoc tests <root@localhost>\n\
             Description: jetdoc (test package built by tests/ansible.rs)\n",
            env!("CARGO_PKG_VERSION")
        ),
    )
    .unwrap();
    let deb = dir.join(format!("jetdoc_{}-1_{arch}.deb", env!("CARGO_PKG_VERSION")));
    let out = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "-z1", "--build"])
        .arg(&tree)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "dpkg-deb --build: {}", text(&out));
    deb
}

struct Fleet {
    /// The provision rig; its engine runs the host containers and is the first robot's engine.
    rig: Rig,
    /// The engine of the second and third robots.
    engine_b: TestDaemon,
    tmp: tempfile::TempDir,
    cache: PathBuf,
}

impl Fleet {
    fn start(cache: PathBuf) -> Fleet {
        let rig = Rig::start();
        let engine_b = rig.another_engine();
        let tmp = tempfile::Builder::new().prefix("jetdoc-ansible-").tempdir().unwrap();
        let started = Instant::now();
        let tar = rootfs_tar(&cache);
        let out = Command::new("docker")
            .env("DOCKER_HOST", rig.daemon.host())
            .arg("import")
            .arg(&tar)
            .arg(IMAGE)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker import {}: {}", tar.display(), text(&out));
        let docker_cli = which::which("docker").unwrap();
        for (i, (name, fixture, _)) in HOSTS.into_iter().enumerate() {
            let engine = if i == 0 { &rig.daemon } else { &engine_b };
            // This machine's network (the registry, the wheel index and the ZED stand-in listen
            // on 127.0.0.1), a Docker engine's socket where jetdoc looks for it, and the docker
            // CLI that jetdoc drives (static, or linked to glibc only: the rootfs is this
            // machine's Debian).
            rig.daemon.docker_ok(&[
                "run",
                "-d",
                "--network",
                "host",
                "-v",
                &format!("{}:/var/run/docker.sock", engine.socket.display()),
                "-v",
                &format!("{}:/usr/bin/docker:ro", docker_cli.display()),
                "--name",
                name,
                IMAGE,
                "sleep",
                "infinity",
            ]);
            let root = repo().join("tests/fixtures/sysroots").join(fixture);
            rig.daemon.docker_ok(&["cp", &root.display().to_string(), &format!("{name}:{ROOT_IN_HOST}")]);
        }
        eprintln!("started the rig, two engines and {} hosts in {:.1?}", HOSTS.len(), started.elapsed());
        Fleet { rig, engine_b, tmp, cache }
    }

    fn daemon(&self) -> &TestDaemon {
        &self.rig.daemon
    }

    /// The engine a host's jetdoc talks to.
    fn engine(&self, host: &str) -> &TestDaemon {
        if host == HOSTS[0].0 {
            &self.rig.daemon
        } else {
            &self.engine_b
        }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn report_dir(&self) -> PathBuf {
        self.dir().join("report")
    }

    /// The test's inventory (JSON, which is YAML): every host through the docker connection, with
    /// its fixture root; `vars` for the group, `host_vars` per host.
    fn write_inventory(
        &self,
        file: &str,
        vars: serde_json::Value,
        host_vars: impl Fn(&str) -> serde_json::Value,
    ) -> PathBuf {
        let mut group = serde_json::json!({
            "ansible_connection": "community.docker.docker",
            // No ansible_user: the containers run as root, and with a user set the docker
            // connection asks `docker version` twice before every task.
            "ansible_become": false,
            "ansible_python_interpreter": "/usr/bin/python3",
            "jetdoc_root": ROOT_IN_HOST,
            "jetdoc_report_dir": self.report_dir(),
        });
        group.as_object_mut().unwrap().extend(vars.as_object().unwrap().clone());
        let hosts: serde_json::Map<String, serde_json::Value> =
            HOSTS.iter().map(|(name, _, _)| (name.to_string(), host_vars(name))).collect();
        let inventory = serde_json::json!({"robots": {"hosts": hosts, "vars": group}});
        let path = self.dir().join(file);
        std::fs::write(&path, serde_json::to_string_pretty(&inventory).unwrap()).unwrap();
        path
    }

    /// `ansible-playbook -i INVENTORY site.yml ARGS` from contrib/ansible, as a user runs it.
    fn playbook(&self, inventory: &Path, args: &[&str]) -> Playbook {
        let started = Instant::now();
        let contrib = repo().join("contrib/ansible");
        let out = Command::new("timeout")
            .arg("300")
            .arg(self.cache.join("venv/bin/ansible-playbook"))
            .arg("-i")
            .arg(inventory)
            .arg("site.yml")
            .args(args)
            .current_dir(&contrib)
            .env("ANSIBLE_CONFIG", contrib.join("ansible.cfg"))
            .env("ANSIBLE_COLLECTIONS_PATH", self.cache.join("collections"))
            .env("ANSIBLE_HOME", self.dir().join("ansible-home"))
            .env("ANSIBLE_LOCAL_TEMP", self.dir().join("ansible-tmp"))
            .env("ANSIBLE_NOCOLOR", "1")
            // ansible-core refuses a controller locale that is not UTF-8.
            .env("LC_ALL", "C.UTF-8")
            .env("DOCKER_HOST", self.daemon().host())
            .output()
            .unwrap();
        let output = text(&out);
        eprintln!(
            "ansible-playbook site.yml {args:?}: {:.1?}, exit {:?}",
            started.elapsed(),
            out.status.code()
        );
        Playbook { code: out.status.code(), recap: recap(&output), output }
    }

    fn exec(&self, host: &str, argv: &[&str]) -> Output {
        self.daemon().docker(&[&["exec", host][..], argv].concat())
    }

    /// What changed in a host's filesystem since its container started (`docker diff`), less
    /// Ansible's own remote temp directory.
    fn diff(&self, host: &str) -> BTreeSet<String> {
        self.daemon()
            .docker_ok(&["diff", host])
            .lines()
            .filter(|l| {
                let path = l.get(2..).unwrap_or("");
                path != "/root" && !path.starts_with("/root/.ansible")
            })
            .map(str::to_string)
            .collect()
    }

    fn report(&self) -> serde_json::Value {
        let path = self.report_dir().join("report.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
    }

    fn report_line(&self, host: &str) -> String {
        let table = std::fs::read_to_string(self.report_dir().join("report.txt")).unwrap();
        let line = table.lines().find(|l| l.starts_with(host));
        line.unwrap_or_else(|| panic!("{host} not in report.txt:\n{table}")).to_string()
    }
}

struct Playbook {
    code: Option<i32>,
    output: String,
    /// PLAY RECAP: host -> counter (ok, changed, failed, ...) -> value.
    recap: BTreeMap<String, BTreeMap<String, u32>>,
}

impl Playbook {
    fn assert_ok(&self, what: &str) {
        assert_eq!(self.code, Some(0), "{what}: ansible-playbook failed:\n{}", self.output);
        for (host, _, _) in HOSTS {
            let counts = self
                .recap
                .get(host)
                .unwrap_or_else(|| panic!("{what}: {host} not in the recap:\n{}", self.output));
            assert_eq!(counts["failed"], 0, "{what}: {host} failed:\n{}", self.output);
            assert_eq!(counts["unreachable"], 0, "{what}: {host} unreachable:\n{}", self.output);
        }
    }

    /// ansible-playbook exits 2 with `host` failed, every other host ok; none unreachable.
    fn assert_only_failed(&self, what: &str, failed: &str) {
        assert_eq!(
            self.code,
            Some(2),
            "{what}: a failed host makes ansible-playbook exit 2:\n{}",
            self.output
        );
        for (host, _, _) in HOSTS {
            let counts = self
                .recap
                .get(host)
                .unwrap_or_else(|| panic!("{what}: {host} not in the recap:\n{}", self.output));
            let expected = u32::from(host == failed);
            assert_eq!(
                counts["failed"], expected,
                "{what}: {host} failed {} times:\n{}",
                counts["failed"], self.output
            );
            assert_eq!(counts["unreachable"], 0, "{what}: {host} unreachable:\n{}", self.output);
        }
    }

    fn changed(&self, host: &str) -> u32 {
        self.recap[host]["changed"]
    }
}

fn recap(output: &str) -> BTreeMap<String, BTreeMap<String, u32>> {
    let Some(start) = output.find("PLAY RECAP") else { return BTreeMap::new() };
    output[start..]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (host, counts) = line.split_once(" : ")?;
            let counts = counts
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                .collect();
            Some((host.trim().to_string(), counts))
        })
        .collect()
}

/// The hosts of a report, by name.
fn report_hosts(report: &serde_json::Value) -> &serde_json::Map<String, serde_json::Value> {
    report["hosts"].as_object().unwrap_or_else(|| panic!("report.json has no hosts object: {report}"))
}

/// How many containers the stand-in `nvidia` runtime has created (both engines log to it).
fn nvidia_creates(rig: &Rig) -> usize {
    let log = std::fs::read_to_string(&rig.runtime_log).unwrap_or_default();
    log.lines().filter(|l| l.split_whitespace().any(|w| w == "create")).count()
}

fn the_role_installs_jetdoc_copies_the_lock_provisions_and_gathers_one_report_from_three_hosts() {
    support::require(support::dockerd::available(), "a Docker engine (dockerd, docker CLI, root)");
    let cache = prepare();
    let fleet = Fleet::start(cache);
    let started = Instant::now();
    let rig = &fleet.rig;
    let files = fleet.dir().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let bin = jetdoc_binary(&files);
    let deb = jetdoc_deb(&files, &bin);
    // The team's configuration directory, which the role unpacks into /etc/jetdoc on every host:
    // its own profile (with the app files it ships) and a knowledge table that sends the ZED SDK
    // download to the loopback stand-in.
    let config = files.join("etc-jetdoc");
    let profiles = config.join("profiles.d");
    std::fs::create_dir_all(&profiles).unwrap();
    let profile = test_profile(&profiles, &rig.base, &rig.downloads.url(), true);
    let checks = rig.downloads.checks_dir(&config);
    // The team's lock file, made once on a first robot (a copy of the AGX Orin root, the first
    // engine); its bytes must reach every host unchanged.
    let lock = files.join(LOCK);
    let (first_root, first_cache) = rig.robot("first-robot");
    let out =
        rig.provision(&first_root, &first_cache, &profile, &["--no-run", "--lock", lock.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "the first robot: {}", text(&out));
    let lock_sha = sha(&std::fs::read(&lock).unwrap());
    eprintln!("the binary, the .deb and the first robot's lock in {:.1?}", started.elapsed());
    let deb_host = HOSTS[2].0;
    let host_vars = |name: &str| {
        if name == deb_host {
            serde_json::json!({"jetdoc_src": deb})
        } else {
            serde_json::json!({})
        }
    };
    let inventory = fleet.write_inventory(
        "inventory.yml",
        serde_json::json!({
            "jetdoc_src": bin,
            "jetdoc_profile": PROFILE,
            "jetdoc_lock_src": lock,
            "jetdoc_config_src": config,
            // --live-commands: a test hook; with --root jetdoc otherwise runs no command, Docker
            // included. No run (the hosts of an engine would replace each other's container);
            // builds without a bridge (the test engines have none).
            "jetdoc_provision_args": ["--live-commands", "--no-run", "--network", "none"],
        }),
        host_vars,
    );
    let before: BTreeMap<&str, BTreeSet<String>> =
        HOSTS.iter().map(|(h, _, _)| (*h, fleet.diff(h))).collect();

    // 1. Check mode on a fresh host: nothing is installed, copied or run; the report says why.
    // One host (the .deb one; the others take the binary's simpler path) keeps the test short.
    let dry = fleet.playbook(&inventory, &["--check", "--limit", deb_host]);
    assert_eq!(dry.code, Some(0), "--check on a fresh host:\n{}", dry.output);
    assert_eq!(dry.recap[deb_host]["failed"], 0, "{}", dry.output);
    let report = fleet.report();
    assert_eq!(report_hosts(&report).len(), 1, "{report}");
    let host = deb_host;
    assert_eq!(fleet.diff(host), before[host], "--check changed {host}:\n{}", dry.output);
    let r = &report_hosts(&report)[host];
    assert_eq!(r["check_mode"], true, "{r}");
    assert_eq!(r["jetdoc"]["installed"], true, "check mode says it would install jetdoc: {r}");
    assert_eq!(r["jetdoc"]["version"], serde_json::Value::Null, "no jetdoc ran on {host}: {r}");
    let p = &r["provision"];
    assert_eq!(
        (&p["ran"], &p["skipped"]),
        (&false.into(), &"check mode: jetdoc would be installed first".into()),
        "{r}"
    );

    // 2. The real run: jetdoc, the lock, the profile and the table on every host; a real
    // `provision e2e-test --locked` on each. The JetPack 6 hosts build, smoke-test (through the
    // stand-in nvidia runtime) and record it; the JetPack 5 host is refused, and only it fails,
    // after the report that lists all three.
    let creates = nvidia_creates(rig);
    let first = fleet.playbook(&inventory, &[]);
    first.assert_only_failed("first run", deb_host);
    assert!(
        nvidia_creates(rig) >= creates + 2,
        "a smoke test per provisioned host ran through the nvidia runtime"
    );
    let report = fleet.report();
    let hosts = report_hosts(&report);
    assert_eq!(hosts.len(), HOSTS.len(), "the report lists every host: {report}");
    assert_eq!(report["schema"], 1);
    assert_eq!(report["check_mode"], false);
    let table = std::fs::read_to_string(fleet.report_dir().join("report.txt")).unwrap();
    eprintln!("report.txt after the first run:\n{table}");
    let lines: Vec<&str> = table.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1 + HOSTS.len(), "a header and one line per host:\n{table}");
    assert!(lines[0].starts_with("HOST") && lines[0].contains("CHECKS"), "{table}");
    let mut images = BTreeMap::new();
    for (host, fixture, install) in HOSTS {
        assert!(first.changed(host) >= 1, "the first run changed {host}:\n{}", first.output);
        let path = if install == Install::Deb { "/usr/bin/jetdoc" } else { "/usr/local/bin/jetdoc" };
        let version = fleet.exec(host, &[path, "--version"]);
        assert!(version.status.success(), "{host}: {path} --version: {}", text(&version));
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("jetdoc {}", env!("CARGO_PKG_VERSION"))
        );
        if install == Install::Deb {
            let status = fleet.exec(host, &["dpkg-query", "-W", "-f", "${Status} ${Version}", "jetdoc"]);
            assert_eq!(
                String::from_utf8_lossy(&status.stdout),
                format!("install ok installed {}-1", env!("CARGO_PKG_VERSION")),
                "{host}: {}",
                text(&status)
            );
        }
        let copied = fleet.exec(host, &["cat", &format!("/etc/jetdoc/{LOCK}")]);
        assert_eq!(
            copied.stdout,
            std::fs::read(&lock).unwrap(),
            "{host} has the team's lock file byte for byte"
        );
        let copied = fleet.exec(host, &["cat", &format!("/etc/jetdoc/profiles.d/{PROFILE}.toml")]);
        assert_eq!(copied.stdout, std::fs::read(&profile).unwrap(), "{host} has the team's profile");

        // What the host reported is what jetdoc says about its fixture root, run here.
        let r = &hosts[host];
        let expected = support::run(
            support::jetdoc()
                .args(["--format", "json", "--checks-dir"])
                .arg(&checks)
                .arg("--root")
                .arg(repo().join("tests/fixtures/sysroots").join(fixture))
                .arg("check"),
        );
        let expected: serde_json::Value = serde_json::from_slice(&expected.stdout).unwrap();
        assert_eq!(r["host"], host);
        assert_eq!(r["root"], ROOT_IN_HOST);
        assert_eq!(r["jetdoc"]["version"], env!("CARGO_PKG_VERSION"), "{r}");
        assert_eq!(r["jetdoc"]["path"], path, "{r}");
        assert_eq!(r["lock"]["path"], format!("/etc/jetdoc/{LOCK}"), "{r}");
        assert_eq!(r["config"]["copied"], true, "{r}");
        assert_eq!(r["check"]["rc"], 0, "{r}");
        assert_eq!(r["check"]["device"], expected["device"], "{host} reported its fixture's device");
        assert_eq!(r["check"]["summary"], expected["summary"], "{host}: {r}");
        assert_eq!(r["check"]["json"]["checks"], expected["checks"], "{host}: the whole check report");
        let l4t = expected["device"]["l4t"].as_str().unwrap();
        let line = fleet.report_line(host);
        assert!(line.contains(&format!("L4T {l4t}")), "{line}");

        let p = &r["provision"];
        let status = &r["status"];
        if host == deb_host {
            // L4T 35.4 (JetPack 5): the profile asks for JetPack >= 6.
            assert_eq!(
                (&p["ran"], &p["rc"], &p["result"]),
                (&true.into(), &1.into(), &"refused".into()),
                "{r}"
            );
            let message = p["message"].as_str().unwrap_or_default();
            assert!(message.contains("JetPack"), "jetdoc's reason: {r}");
            assert_eq!(
                status["json"]["profiles"],
                serde_json::json!({}),
                "nothing provisioned on {host}: {r}"
            );
            assert!(
                first.output.contains(&format!("jetdoc provision {PROFILE}: refused (exit 1): {message}")),
                "{}",
                first.output
            );
            assert!(line.contains("refused: ") && line.contains("nothing provisioned"), "{line}");
            continue;
        }
        assert_eq!(
            (&p["ran"], &p["dry_run"], &p["rc"], &p["result"], &p["changed"]),
            (&true.into(), &false.into(), &0.into(), &"provisioned".into(), &true.into()),
            "{r}"
        );
        let state = &p["output"]["state"];
        let tag = state["image"]["tag"].as_str().unwrap_or_else(|| panic!("no image tag: {r}"));
        assert!(tag.starts_with("jetdoc/e2e-test:"), "{tag}");
        assert_eq!(p["summary"], tag, "{r}");
        assert_eq!(state["lock_sha256"], lock_sha, "provisioned from the team's lock: {r}");
        assert_eq!(state["image"]["base_digest"], rig.base_digest, "the base the lock pins: {r}");
        assert_eq!(state["smoke"][0]["passed"], true, "{r}");
        // The image on the host's engine, labelled with the lock; the state on the host's root;
        // `jetdoc status` gathered from the host says the same.
        let engine = fleet.engine(host);
        let labelled = engine.docker_ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}} {{index .Config.Labels \"io.jetdoc.lock.sha256\"}}",
            tag,
        ]);
        assert_eq!(labelled.trim(), format!("{} {lock_sha}", state["image"]["id"].as_str().unwrap()));
        let on_host = fleet.exec(host, &["cat", STATE_IN_HOST]);
        let on_host: serde_json::Value = serde_json::from_slice(&on_host.stdout)
            .unwrap_or_else(|e| panic!("{host}:{STATE_IN_HOST}: {e}: {}", text(&on_host)));
        assert_eq!(on_host["profiles"][PROFILE]["result"], "success", "{on_host}");
        assert_eq!(status["rc"], 0, "{r}");
        assert_eq!(status["json"]["profiles"][PROFILE]["result"], "success", "{r}");
        assert_eq!(status["json"]["profiles"][PROFILE]["image"]["id"], state["image"]["id"], "{r}");
        assert!(line.contains(&format!("provisioned: {tag}")) && line.contains("e2e-test success"), "{line}");
        images.insert(host, state["image"]["id"].clone());
    }

    // 3. Again: every host is up to date, nothing changes, nothing is downloaded or pulled; the
    // JetPack 5 host is refused again.
    let (served, asked) = (rig.downloads.server.body_bytes(), rig.registry.log().lines().count());
    let second = fleet.playbook(&inventory, &[]);
    second.assert_only_failed("second run", deb_host);
    let after_second: BTreeMap<&str, BTreeSet<String>> =
        HOSTS.iter().map(|(h, _, _)| (*h, fleet.diff(h))).collect();
    let report = fleet.report();
    for (host, _, _) in HOSTS {
        assert_eq!(second.changed(host), 0, "the second run changed {host}:\n{}", second.output);
        let p = &report_hosts(&report)[host]["provision"];
        if let Some(id) = images.get(host) {
            assert_eq!((&p["rc"], &p["result"]), (&0.into(), &"up-to-date".into()), "{host}: {p}");
            assert_eq!(&p["output"]["state"]["image"]["id"], id, "{host}: {p}");
        }
    }
    assert_eq!(rig.downloads.server.body_bytes(), served, "an up-to-date fleet downloaded something");
    assert_eq!(rig.registry.log().lines().count(), asked, "an up-to-date fleet asked the registry");

    // 4. Check mode on installed hosts with the built-in `locomotion`: a real --dry-run on every
    // host, planned against its own device (offline: --root asks no registry), and nothing
    // changes; the provisioned profile is still reported.
    let inventory = fleet.write_inventory(
        "inventory-check.yml",
        serde_json::json!({
            "jetdoc_src": bin,
            "jetdoc_profile": "locomotion",
            "jetdoc_config_src": config,
        }),
        host_vars,
    );
    let check = fleet.playbook(&inventory, &["--check"]);
    check.assert_ok("--check with locomotion");
    let table = std::fs::read_to_string(fleet.report_dir().join("report.txt")).unwrap();
    eprintln!("report.txt after --check with locomotion:\n{table}");
    let report = fleet.report();
    assert_eq!(report_hosts(&report).len(), HOSTS.len(), "{report}");
    for (host, fixture, _) in HOSTS {
        // The dry run is the one change check mode announces: the plan has work to do.
        assert_eq!(check.changed(host), 1, "--check on {host}:\n{}", check.output);
        assert_eq!(fleet.diff(host), after_second[host], "--check changed {host}");
        let r = &report_hosts(&report)[host];
        let p = &r["provision"];
        assert_eq!(
            (&p["ran"], &p["dry_run"], &p["rc"], &p["result"]),
            (&true.into(), &true.into(), &0.into(), &"planned".into()),
            "{r}"
        );
        let expected = support::run(
            support::jetdoc()
                .env("JETDOC_PROFILES_DIR", &profiles)
                .args(["--format", "json", "--checks-dir"])
                .arg(&checks)
                .arg("--root")
                .arg(repo().join("tests/fixtures/sysroots").join(fixture))
                .args(["provision", "locomotion", "--dry-run"]),
        );
        let expected: serde_json::Value = serde_json::from_slice(&expected.stdout).unwrap();
        let plan = &p["output"];
        assert_eq!(plan["profile"]["name"], "locomotion", "{r}");
        assert_eq!(plan["device"]["l4t"], expected["device"]["l4t"], "{host}: {r}");
        for field in ["base", "image", "artifacts", "blocked_by"] {
            assert_eq!(plan[field], expected[field], "{host}: the plan's {field}");
        }
        let chosen = expected["base"]["chosen"].as_str().unwrap();
        assert!(fleet.report_line(host).contains("planned (dry run): "), "{}", fleet.report_line(host));
        assert!(p["summary"].as_str().unwrap_or_default().ends_with(chosen), "{r}");
        let provisioned = &r["status"]["json"]["profiles"][PROFILE];
        if images.contains_key(host) {
            assert_eq!(provisioned["result"], "success", "{r}");
        } else {
            assert!(provisioned.is_null(), "{r}");
        }
    }
    eprintln!("the test's own work (all but the daemons' start and stop): {:.1?}", started.elapsed());
}
