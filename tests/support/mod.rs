//! Shared test support. Each integration test file includes it with `mod support;`.
#![allow(dead_code)]

pub mod dockerd;
pub mod harness;
pub mod registry;

#[allow(unused_imports)]
pub(crate) use harness::harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The jetdoc binary under test.
pub fn jetdoc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jetdoc"));
    // Tests must not pick up the developer's settings.
    for var in ["JETDOC_ROOT", "JETDOC_CHECKS_DIR", "JETDOC_COMMANDS", "JETDOC_LIVE_COMMANDS", "NO_COLOR"] {
        c.env_remove(var);
    }
    c.env("NO_COLOR", "1");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn jetdoc")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether the tests run as root (std has no geteuid; the owner of /proc/self is the euid).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Call where a test needs a tool or service this machine may lack. Present: returns. Missing
/// in CI (`CI=true`): fails the test (`.ci/run` must install or start it). Missing elsewhere:
/// the test stops here and `support::harness` reports it `ignored (needs WHAT)`, never `ok`. A
/// file still on libtest's `#[test]` has no such outcome: there the test fails, saying so.
pub fn require(ok: bool, what: &str) {
    if ok {
        return;
    }
    if in_ci() {
        panic!("CI requires {what}, but it is not available: .ci/run must install and start it");
    }
    if !harness::active() {
        panic!("{what} is not available, and this test file runs under libtest, which cannot report it ignored: run it under support::harness (harness = false)");
    }
    std::panic::panic_any(harness::Missing(format!("needs {what}")));
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies a directory tree, keeping symlinks as symlinks (fixture roots are full of them).
/// What install.sh needs from the repository, copied under `dir`: `repo/` with install.sh,
/// contrib/systemd and this build's jetdoc as its release output, and `bin/` with a `cargo` that
/// does nothing (put it first on PATH). Returns (repo, bin).
#[allow(dead_code, reason = "used by the install.sh tests only")]
pub fn stage_install_repo(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("target/release")).unwrap();
    std::fs::copy(src.join("install.sh"), repo.join("install.sh")).unwrap();
    copy_tree(&src.join("contrib/systemd"), &repo.join("contrib/systemd"));
    std::fs::copy(env!("CARGO_BIN_EXE_jetdoc"), repo.join("target/release/jetdoc")).unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("cargo"), "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    (repo, bin)
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if ft.is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
