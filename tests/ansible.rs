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
//! Locally the test is reported ignored (with what it needs) when Docker, mmdebstrap or
//! python3's venv is missing; in CI (`CI=true`) it fails instead.

#![allow(clippy::disallowed_methods, reason = "tests drive the real binary and the real tools")]
#![allow(clippy::print_stderr, reason = "how long each ansible-playbook run took, for the CI log")]

mod support;

support::harness!(the_role_installs_jetdoc_copies_the_lock_and_gathers_one_report_from_three_hosts);

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

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
    daemon: TestDaemon,
    tmp: tempfile::TempDir,
    cache: PathBuf,
}

impl Fleet {
    fn start(cache: PathBuf) -> Fleet {
        let daemon = TestDaemon::start("{}");
        let tmp = tempfile::Builder::new().prefix("jetdoc-ansible-").tempdir().unwrap();
        let started = Instant::now();
        let tar = rootfs_tar(&cache);
        let out = Command::new("docker")
            .env("DOCKER_HOST", daemon.host())
            .arg("import")
            .arg(&tar)
            .arg(IMAGE)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker import {}: {}", tar.display(), text(&out));
        for (name, fixture, _) in HOSTS {
            // No network at all: the docker connection needs only `docker exec`.
            daemon.docker_ok(&["run", "-d", "--network", "none", "--name", name, IMAGE, "sleep", "infinity"]);
            let root = repo().join("tests/fixtures/sysroots").join(fixture);
            daemon.docker_ok(&["cp", &root.display().to_string(), &format!("{name}:{ROOT_IN_HOST}")]);
        }
        eprintln!("imported the rootfs and started {} hosts in {:.1?}", HOSTS.len(), started.elapsed());
        Fleet { daemon, tmp, cache }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn report_dir(&self) -> PathBuf {
        self.dir().join("report")
    }

    /// The test's inventory: every host through the docker connection, with its fixture root.
    /// `profile`: one host and the profile it is to provision (the others provision nothing).
    fn write_inventory(
        &self,
        file: &str,
        bin: &Path,
        deb: &Path,
        lock: &Path,
        profile: Option<(&str, &str)>,
    ) -> PathBuf {
        let mut hosts = String::new();
        for (name, _, install) in HOSTS {
            hosts.push_str(&format!("    {name}:\n"));
            if install == Install::Deb {
                hosts.push_str(&format!("      jetdoc_src: {}\n", deb.display()));
            }
            if let Some((_, p)) = profile.filter(|(h, _)| *h == name) {
                hosts.push_str(&format!("      jetdoc_profile: {p}\n"));
            }
        }
        // No ansible_user: the containers run as root, and with a user set the docker connection
        // asks `docker version` twice before every task.
        let inventory = format!(
            "robots:\n  hosts:\n{hosts}  vars:\n    ansible_connection: community.docker.docker\n    \
             ansible_become: false\n    ansible_python_interpreter: /usr/bin/python3\n    \
             jetdoc_src: {}\n    jetdoc_lock_src: {}\n    jetdoc_root: {ROOT_IN_HOST}\n    jetdoc_report_dir: {}\n",
            bin.display(),
            lock.display(),
            self.report_dir().display()
        );
        let path = self.dir().join(file);
        std::fs::write(&path, inventory).unwrap();
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
            .env("DOCKER_HOST", self.daemon.host())
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
        self.daemon.docker(&[&["exec", host][..], argv].concat())
    }

    /// What changed in a host's filesystem since its container started (`docker diff`), less
    /// Ansible's own remote temp directory.
    fn diff(&self, host: &str) -> BTreeSet<String> {
        self.daemon
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

fn the_role_installs_jetdoc_copies_the_lock_and_gathers_one_report_from_three_hosts() {
    support::require(support::dockerd::available(), "a Docker engine (dockerd, docker CLI, root)");
    let cache = prepare();
    let fleet = Fleet::start(cache);
    let files = fleet.dir().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let bin = jetdoc_binary(&files);
    let deb = jetdoc_deb(&files, &bin);
    // The team's lock file: its bytes must reach every host unchanged.
    let lock = files.join(LOCK);
    std::fs::write(&lock, "# jetdoc lock (test)\nschema = 1\n[profile]\nname = \"locomotion\"\n").unwrap();
    let inventory = fleet.write_inventory("inventory.yml", &bin, &deb, &lock, None);
    let before: BTreeMap<&str, BTreeSet<String>> =
        HOSTS.iter().map(|(h, _, _)| (*h, fleet.diff(h))).collect();

    // 1. Check mode on fresh hosts: nothing is installed, copied or run; the report says why.
    let dry = fleet.playbook(&inventory, &["--check"]);
    dry.assert_ok("--check on fresh hosts");
    let report = fleet.report();
    for (host, _, _) in HOSTS {
        assert_eq!(fleet.diff(host), before[host], "--check changed {host}:\n{}", dry.output);
        let r = &report_hosts(&report)[host];
        assert_eq!(r["check_mode"], true, "{r}");
        assert_eq!(r["jetdoc"]["installed"], true, "check mode says it would install jetdoc: {r}");
        assert_eq!(r["jetdoc"]["version"], serde_json::Value::Null, "no jetdoc ran on {host}: {r}");
    }

    // 2. The real run: jetdoc and the lock on every host, one report listing all of them.
    let first = fleet.playbook(&inventory, &[]);
    first.assert_ok("first run");
    let report = fleet.report();
    let hosts = report_hosts(&report);
    assert_eq!(hosts.len(), HOSTS.len(), "the report lists every host: {report}");
    assert_eq!(report["schema"], 1);
    assert_eq!(report["check_mode"], false);
    let table = std::fs::read_to_string(fleet.report_dir().join("report.txt")).unwrap();
    let lines: Vec<&str> = table.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1 + HOSTS.len(), "a header and one line per host:\n{table}");
    assert!(lines[0].starts_with("HOST") && lines[0].contains("CHECKS"), "{table}");
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

        // What the host reported is what jetdoc says about its fixture root, run here.
        let r = &hosts[host];
        let expected = support::run(
            support::jetdoc()
                .args(["--format", "json", "--root"])
                .arg(repo().join("tests/fixtures/sysroots").join(fixture))
                .arg("check"),
        );
        let expected: serde_json::Value = serde_json::from_slice(&expected.stdout).unwrap();
        assert_eq!(r["host"], host);
        assert_eq!(r["root"], ROOT_IN_HOST);
        assert_eq!(r["jetdoc"]["version"], env!("CARGO_PKG_VERSION"), "{r}");
        assert_eq!(r["jetdoc"]["path"], path, "{r}");
        assert_eq!(r["lock"]["path"], format!("/etc/jetdoc/{LOCK}"), "{r}");
        assert_eq!(r["check"]["rc"], 0, "{r}");
        assert_eq!(r["check"]["device"], expected["device"], "{host} reported its fixture's device");
        assert_eq!(r["check"]["summary"], expected["summary"], "{host}: {r}");
        assert_eq!(r["check"]["json"]["checks"], expected["checks"], "{host}: the whole check report");
        assert!(r["status"].is_object(), "jetdoc status was gathered (or its error recorded): {r}");
        let l4t = expected["device"]["l4t"].as_str().unwrap();
        let line = lines.iter().find(|l| l.starts_with(host)).unwrap_or_else(|| panic!("{host} in\n{table}"));
        assert!(line.contains(&format!("L4T {l4t}")), "{line}");
    }

    // 3. Again: every host is up to date, nothing changes.
    let second = fleet.playbook(&inventory, &[]);
    second.assert_ok("second run");
    let after_second: BTreeMap<&str, BTreeSet<String>> =
        HOSTS.iter().map(|(h, _, _)| (*h, fleet.diff(h))).collect();
    for (host, _, _) in HOSTS {
        assert_eq!(second.changed(host), 0, "the second run changed {host}:\n{}", second.output);
    }
    assert_eq!(report_hosts(&fleet.report()).len(), HOSTS.len());

    // 4. Check mode on installed hosts: jetdoc runs (read-only), nothing would change. The third
    // host is to provision a profile that does not exist: its dry run fails, the report still
    // lists every host with that failure, and only that host fails, after the report.
    let (bad_host, bad_profile) = (HOSTS[2].0, "no-such-profile");
    let inventory =
        fleet.write_inventory("inventory-bad.yml", &bin, &deb, &lock, Some((bad_host, bad_profile)));
    let check = fleet.playbook(&inventory, &["--check"]);
    assert_eq!(check.code, Some(2), "a failed host makes ansible-playbook exit 2:\n{}", check.output);
    let report = fleet.report();
    assert_eq!(report_hosts(&report).len(), HOSTS.len(), "{report}");
    for (host, _, _) in HOSTS {
        let failed = if host == bad_host { 1 } else { 0 };
        assert_eq!(check.recap[host]["failed"], failed, "{host}:\n{}", check.output);
        assert_eq!(check.changed(host), 0, "--check on an up-to-date {host}:\n{}", check.output);
        assert_eq!(fleet.diff(host), after_second[host], "--check changed {host}");
        let r = &report_hosts(&report)[host];
        assert_eq!(r["jetdoc"]["version"], env!("CARGO_PKG_VERSION"), "{r}");
        assert_eq!(r["check"]["rc"], 0, "{r}");
        let p = &r["provision"];
        if host == bad_host {
            assert_eq!(
                (&p["ran"], &p["dry_run"], &p["rc"], &p["result"]),
                (&true.into(), &true.into(), &2.into(), &"error".into()),
                "{r}"
            );
            let message = p["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("error:"), "jetdoc's own error, first line: {r}");
            assert!(
                check.output.contains(&format!("jetdoc provision {bad_profile}: error (exit 2)")),
                "{}",
                check.output
            );
        } else {
            assert_eq!((&p["ran"], &p["skipped"]), (&false.into(), &"no jetdoc_profile".into()), "{r}");
        }
    }
    let table = std::fs::read_to_string(fleet.report_dir().join("report.txt")).unwrap();
    let line = table.lines().find(|l| l.starts_with(bad_host)).unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains("error (dry run): ") && !line.contains(": error:"), "{table}");
}
